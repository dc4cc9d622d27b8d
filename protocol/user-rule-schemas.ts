// Request schemas of the user-rules API (the rules themselves: user-rules.ts).
import { Type, type Static } from 'typebox';

const Duration = Type.Union([
  Type.Object({ steps: Type.Integer({ minimum: 1, maximum: 1_000_000_000 }) }, { additionalProperties: false }),
  Type.Object({ minutes: Type.Number({ exclusiveMinimum: 0, maximum: 525_600 }) }, { additionalProperties: false }),
]);

/** A new rule, or the whole of an edited one (PUT replaces it). `metric` and `comparison` are checked by the server. */
export const UserRuleBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    metric: Type.String({ maxLength: 1000 }),
    comparison: Type.String({ maxLength: 100 }),
    value: Type.Number(),
    for: Type.Optional(Duration),
    severity: Type.Optional(Type.Union([Type.Literal('info'), Type.Literal('warn'), Type.Literal('critical')])),
    enabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type UserRuleBody = Static<typeof UserRuleBody>;

export const UserRuleParams = Type.Object({ id: Type.Integer({ minimum: 1 }) }, { additionalProperties: false });
export type UserRuleParams = Static<typeof UserRuleParams>;
