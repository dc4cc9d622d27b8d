// Controls: commands sent to a running trainer (from the browser, the API or an alert's remedy) and their results.
import { Type, type Static } from 'typebox';
import { RUN_ID_PATTERN } from './limits.js';

export const NETS = ['G', 'E', 'D', 'D2'] as const;
export const Net = Type.Union([Type.Literal('G'), Type.Literal('E'), Type.Literal('D'), Type.Literal('D2')]);
export type Net = (typeof NETS)[number];

export const LAMBDAS = ['adv', 'cyc', 'latent', 'kl'] as const;
export const LambdaName = Type.Union([
  Type.Literal('adv'),
  Type.Literal('cyc'),
  Type.Literal('latent'),
  Type.Literal('kl'),
]);
export type LambdaName = (typeof LAMBDAS)[number];

const Positive = Type.Number({ exclusiveMinimum: 0, maximum: 1e6 });
const Factor = Type.Number({ exclusiveMinimum: 0, maximum: 1000 });
const NoArgs = Type.Object({}, { additionalProperties: false });
const Lambda = Type.Number({ minimum: 0, maximum: 1e6 });
const MaxNorm = Type.Number({ minimum: 0, maximum: 1e9 });

/** The checkpoints a trainer keeps: the last one saved, and the one of the best validation. */
export const ROLLBACK_CHECKPOINTS = ['latest', 'best'] as const;
export type RollbackCheckpoint = (typeof ROLLBACK_CHECKPOINTS)[number];

/**
 * `rollback`: restore a checkpoint (weights, optimizers, RNG, step) and continue as a child run forked from this one at
 * the checkpoint's step. After the restore: `lr` sets the named nets' lrs (D covers D and D2, as in set_lr),
 * `lr_factor` multiplies the lrs of every net `lr` does not name, `lambda` sets λs, `max_norm` sets clipping.
 */
export const RollbackArgs = Type.Object(
  {
    checkpoint: Type.Union([Type.Literal('latest'), Type.Literal('best')]),
    lr: Type.Optional(
      Type.Object(
        {
          G: Type.Optional(Positive),
          E: Type.Optional(Positive),
          D: Type.Optional(Positive),
          D2: Type.Optional(Positive),
        },
        { additionalProperties: false, minProperties: 1 },
      ),
    ),
    lr_factor: Type.Optional(Factor),
    lambda: Type.Optional(
      Type.Object(
        {
          adv: Type.Optional(Lambda),
          cyc: Type.Optional(Lambda),
          latent: Type.Optional(Lambda),
          kl: Type.Optional(Lambda),
        },
        { additionalProperties: false, minProperties: 1 },
      ),
    ),
    max_norm: Type.Optional(MaxNorm),
  },
  { additionalProperties: false },
);
export type RollbackArgs = Static<typeof RollbackArgs>;

function action<N extends string, A extends ReturnType<typeof Type.Object>>(name: N, args: A) {
  return Type.Object({ action: Type.Literal(name), args }, { additionalProperties: false });
}

/** Every command a trainer understands, with its arguments. */
export const ControlCommand = Type.Union([
  action('set_lr', Type.Object({ net: Net, value: Positive }, { additionalProperties: false })),
  action('scale_lr', Type.Object({ net: Net, factor: Factor }, { additionalProperties: false })),
  action('set_lambda', Type.Object({ name: LambdaName, value: Lambda }, { additionalProperties: false })),
  action('scale_lambda', Type.Object({ name: LambdaName, factor: Factor }, { additionalProperties: false })),
  /** max_norm 0 turns gradient clipping off. */
  action('set_clip', Type.Object({ max_norm: MaxNorm }, { additionalProperties: false })),
  action('pause', NoArgs),
  action('resume', NoArgs),
  action('stop', NoArgs),
  action('checkpoint', NoArgs),
  action('rollback', RollbackArgs),
]);
export type ControlCommand = Static<typeof ControlCommand>;
export type ControlAction = ControlCommand['action'];

export const CONTROL_STATUSES = ['pending', 'sent', 'applied', 'failed'] as const;
export type ControlStatus = (typeof CONTROL_STATUSES)[number];

export const Control = Type.Object({
  id: Type.Integer(),
  run: Type.String(),
  action: Type.String(),
  args: Type.Record(Type.String(), Type.Unknown()),
  status: Type.Union([Type.Literal('pending'), Type.Literal('sent'), Type.Literal('applied'), Type.Literal('failed')]),
  source: Type.String(),
  created_at: Type.Number(),
  sent_at: Type.Union([Type.Number(), Type.Null()]),
  result_at: Type.Union([Type.Number(), Type.Null()]),
  result_step: Type.Union([Type.Integer(), Type.Null()]),
  message: Type.Union([Type.String(), Type.Null()]),
});
export type Control = Static<typeof Control>;

// ---- trainers without a WebSocket (e.g. Python's standard library): controls over HTTP ----

/** Longest a control poll may wait for a control (seconds); proxies commonly cut idle requests after 60 s. */
export const MAX_CONTROL_POLL_WAIT_S = 30;

/**
 * GET /runs/:id/controls/next?after=ID&wait=S: every unanswered control of the run with an id above `after`, waiting
 * up to `wait` seconds for one to be issued. The poll is also the trainer's heartbeat (see server/services/control-polling.ts).
 */
export const ControlPollQuery = Type.Object(
  {
    after: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
    wait: Type.Optional(Type.Number({ minimum: 0, maximum: MAX_CONTROL_POLL_WAIT_S })),
  },
  { additionalProperties: false },
);
export type ControlPollQuery = Static<typeof ControlPollQuery>;

/** A control as the trainer receives it: the same fields as the ingest socket's `control` frame, without `type`. */
export interface PolledControl {
  id: number;
  action: string;
  args: Record<string, unknown>;
}
export interface ControlPollReply {
  controls: PolledControl[];
}

export const ControlResultParams = Type.Object(
  { id: Type.String({ pattern: RUN_ID_PATTERN }), cid: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) },
  { additionalProperties: false },
);
export type ControlResultParams = Static<typeof ControlResultParams>;

/** POST /runs/:id/controls/:cid/result: the trainer's answer, as the ingest socket's `control_result` frame carries it. */
export const ControlResultBody = Type.Object(
  {
    ok: Type.Boolean(),
    step: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
    message: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { additionalProperties: false },
);
export type ControlResultBody = Static<typeof ControlResultBody>;
