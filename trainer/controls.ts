// Control commands from the server (the dashboard, the API, an alert's remedy) applied to the model between steps.
// Model controls (lr, λ, clipping) take effect here; run controls (pause, resume, stop, checkpoint, rollback) are
// returned as an effect for the loop to carry out (trainer/rollback.ts holds what a rollback does to the model). The step of a result: for a model control, the first step that runs with the
// new value (its pushed lr/*, lambda/*, clip/max_norm show it); for a run control, the steps completed when it acted.
import { isGanwatchError } from '../protocol/errors.js';
import type { ControlCommand } from '../protocol/controls.js';
import { lrTargets, type BicycleGAN } from './models/bicyclegan.js';

export type RunEffect = 'pause' | 'resume' | 'stop' | 'checkpoint' | 'rollback';

export interface ControlOutcome {
  ok: boolean;
  /** Step to report with the result (see the header). */
  step: number;
  message: string;
  /** Set for run controls: what the loop must do (and then answer itself for 'checkpoint'). */
  effect?: RunEffect;
}

export interface ControlContext {
  /** Steps completed so far. */
  step: number;
  paused: boolean;
}

const fmt = (n: number): string => (Number.isInteger(n) ? String(n) : Number(n.toPrecision(6)).toString());

/**
 * Applies `command` to `model` if it is a model control, or says which run effect it asks for. Never throws:
 * an invalid or unsupported command comes back as ok=false with the reason.
 */
export function applyControl(model: BicycleGAN, command: ControlCommand, ctx: ControlContext): ControlOutcome {
  const next = ctx.step + 1;
  const fail = (message: string): ControlOutcome => ({ ok: false, step: ctx.step, message });
  try {
    switch (command.action) {
      case 'set_lr': {
        const { net, value } = command.args;
        model.setLr(net, value); // setLr('D') sets D2 too
        return {
          ok: true,
          step: next,
          message: `lr ${lrTargets(net).join(' and ')} = ${fmt(value)} from step ${next}`,
        };
      }
      case 'scale_lr': {
        const { net, factor } = command.args;
        model.scaleLr(net, factor); // scaleLr('D') already scales D2 too
        const now = model.getLr(net);
        return {
          ok: true,
          step: next,
          message: `lr ${lrTargets(net).join(' and ')} ×${fmt(factor)} = ${fmt(now)} from step ${next}`,
        };
      }
      case 'set_lambda': {
        const { name, value } = command.args;
        model.setLambda(name, value);
        return { ok: true, step: next, message: `lambda ${name} = ${fmt(value)} from step ${next}` };
      }
      case 'scale_lambda': {
        const { name, factor } = command.args;
        const value = model.getLambda(name) * factor;
        model.setLambda(name, value);
        return { ok: true, step: next, message: `lambda ${name} ×${fmt(factor)} = ${fmt(value)} from step ${next}` };
      }
      case 'set_clip': {
        const maxNorm = command.args.max_norm;
        model.setClip(maxNorm);
        return {
          ok: true,
          step: next,
          message:
            maxNorm === 0
              ? `gradient clipping off from step ${next}`
              : `gradient clipping at norm ${fmt(maxNorm)} from step ${next}`,
        };
      }
      case 'pause':
        if (ctx.paused) return { ok: true, step: ctx.step, message: `already paused after step ${ctx.step}` };
        return { ok: true, step: ctx.step, message: `paused after step ${ctx.step}`, effect: 'pause' };
      case 'resume':
        if (!ctx.paused) return fail('the run is not paused');
        return { ok: true, step: ctx.step, message: `resumed after step ${ctx.step}`, effect: 'resume' };
      case 'stop':
        return {
          ok: true,
          step: ctx.step,
          message: `stopping after step ${ctx.step}: checkpoint, then finished`,
          effect: 'stop',
        };
      case 'checkpoint':
        return { ok: true, step: ctx.step, message: `checkpoint after step ${ctx.step}`, effect: 'checkpoint' };
      case 'rollback':
        return { ok: true, step: ctx.step, message: `rollback to ${command.args.checkpoint}`, effect: 'rollback' };
      default:
        return fail(`this trainer does not support control '${(command as { action: string }).action}'`);
    }
  } catch (err) {
    return fail(isGanwatchError(err) ? err.message : err instanceof Error ? err.message : String(err));
  }
}
