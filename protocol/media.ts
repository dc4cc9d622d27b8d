// Media (PNG sample grids) and latent codes, stored per run and validation epoch.
import { Type, type Static } from 'typebox';
import {
  MAX_LATENT_CODES,
  MAX_LATENT_DIM,
  MAX_LATENT_LABEL,
  MAX_MEDIA_META_CHARS,
  MEDIA_KIND_PATTERN,
  RUN_ID_PATTERN,
} from './limits.js';

export const MediaKind = Type.String({ pattern: MEDIA_KIND_PATTERN });

export const MediaQuery = Type.Object(
  {
    epoch: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    step: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    kind: Type.Optional(MediaKind),
    /** Optional JSON object describing the image (rows, columns, labels). */
    meta: Type.Optional(Type.String({ maxLength: MAX_MEDIA_META_CHARS })),
  },
  { additionalProperties: false },
);
export type MediaQuery = Static<typeof MediaQuery>;

export const MediaItem = Type.Object({
  id: Type.Integer(),
  epoch: Type.Integer(),
  step: Type.Integer(),
  kind: Type.String(),
  bytes: Type.Integer(),
  meta: Type.Record(Type.String(), Type.Unknown()),
  created_at: Type.Number(),
  url: Type.String(),
});
export type MediaItem = Static<typeof MediaItem>;

export const MediaListQuery = Type.Object(
  {
    kind: Type.Optional(MediaKind),
    epoch: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
  },
  { additionalProperties: false },
);
export type MediaListQuery = Static<typeof MediaListQuery>;

export const MediaParams = Type.Object(
  {
    id: Type.String({ pattern: RUN_ID_PATTERN }),
    mediaId: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
  },
  { additionalProperties: false },
);
export type MediaParams = Static<typeof MediaParams>;

export const LatentsBody = Type.Object(
  {
    epoch: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    step: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
    dim: Type.Integer({ minimum: 1, maximum: MAX_LATENT_DIM }),
    codes: Type.Array(Type.Array(Type.Number()), { minItems: 1, maxItems: MAX_LATENT_CODES }),
    labels: Type.Optional(
      Type.Array(Type.Integer({ minimum: 0, maximum: MAX_LATENT_LABEL }), { maxItems: MAX_LATENT_CODES }),
    ),
  },
  { additionalProperties: false },
);
export type LatentsBody = Static<typeof LatentsBody>;

export const LatentSet = Type.Object({
  epoch: Type.Integer(),
  step: Type.Union([Type.Integer(), Type.Null()]),
  dim: Type.Integer(),
  count: Type.Integer(),
  codes: Type.Array(Type.Array(Type.Number())),
  labels: Type.Union([Type.Array(Type.Integer()), Type.Null()]),
  created_at: Type.Number(),
});
export type LatentSet = Static<typeof LatentSet>;

export const LatentEpochParams = Type.Object(
  {
    id: Type.String({ pattern: RUN_ID_PATTERN }),
    epoch: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  },
  { additionalProperties: false },
);
export type LatentEpochParams = Static<typeof LatentEpochParams>;
