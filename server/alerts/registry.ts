// The alert rules ganwatch knows, keyed by rule name (docs/detectors.md §1–§8). The engine creates one detector
// per (run, enabled rule) from these factories; the order is the order of the README and the API listing.
// To add a rule, follow the steps at the top of detectors/_template.ts (a working rule that is deliberately not here).
import { changePoint } from './detectors/change-point.js';
import { colorDistortion } from './detectors/color-distortion.js';
import { dOverpowering } from './detectors/d-overpowering.js';
import { divergence } from './detectors/divergence.js';
import { earlyStop } from './detectors/early-stop.js';
import { gradientOscillation } from './detectors/gradient-oscillation.js';
import { modeCollapse } from './detectors/mode-collapse.js';
import { throughputDrop } from './detectors/throughput-drop.js';
import { trainingStall } from './detectors/training-stall.js';
import { runCrashed, runEnded, runHang } from './liveness/rules.js';
import type { DetectorFactory } from './types.js';
import { userThreshold } from './user-rules.js';

export const DETECTOR_FACTORIES: readonly DetectorFactory[] = [
  divergence,
  dOverpowering,
  modeCollapse,
  gradientOscillation,
  colorDistortion,
  trainingStall,
  changePoint,
  earlyStop,
  // Beside the GAN rules (protocol's GENERAL_RULE_NAMES): liveness (judged by liveness/watch.ts), throughput, users'.
  runHang,
  runCrashed,
  runEnded,
  throughputDrop,
  userThreshold,
];

export const DETECTORS: ReadonlyMap<string, DetectorFactory> = new Map(DETECTOR_FACTORIES.map((f) => [f.rule, f]));
