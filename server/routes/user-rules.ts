// Routes: user threshold rules (protocol/user-rules.ts), server-wide at /alerts/user-rules and per run at
// /runs/:id/alerts/user-rules; a rule is edited and deleted by id at /alerts/user-rules/:id whatever its scope.
import type { FastifyInstance } from 'fastify';
import {
  gwError,
  RunParams,
  USER_RULE_ALERT,
  UserRuleBody,
  UserRuleParams,
  type UserRule,
} from '../../protocol/index.js';
import { checkUserRule } from '../alerts/user-rules.js';
import type { ServerContext } from '../context.js';
import { requireRun } from './runs.js';

export async function userRuleRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  const requireRule = async (id: number): Promise<UserRule> => {
    const rule = await ctx.store.userRules.get(id);
    if (!rule) throw gwError('GW_ERR_USER_RULE_NOT_FOUND', String(id));
    return rule;
  };

  /** The rule's scope changed its rules: the runs' detectors are rebuilt here and on every server sharing the store. */
  const changed = (run: string | null): void => {
    ctx.alerts.configChanged(run);
    ctx.alerts.onConfigChanged?.(run);
  };

  /**
   * An edited or deleted rule's open alerts resolve (its detector no longer judges them as they were; an edited rule
   * fires again if its new condition holds). Before `changed`, so rebuilt detectors do not restore them.
   */
  const closeAlerts = async (rule: UserRule, why: 'edited' | 'deleted'): Promise<void> => {
    const rid = rule.run === null ? undefined : (await ctx.store.runs.ref(rule.run))?.rid;
    const open = await ctx.store.alerts.list({ state: 'firing', rule: USER_RULE_ALERT, rid, limit: 10_000 });
    for (const a of open.filter((x) => x.key.startsWith(`${rule.id}:`))) {
      const step = (await ctx.store.runs.get(a.run))?.last_step ?? a.step_opened ?? 0;
      const alert = await ctx.store.alerts.resolve(a.id, step, { ...a.evidence, resolved_by: { user_rule: why } });
      ctx.hub.publish(alert.run, { type: 'alert', run: alert.run, alert });
    }
  };

  app.get('/alerts/user-rules', async () => ({ rules: await ctx.store.userRules.list() }));

  app.post<{ Body: UserRuleBody }>('/alerts/user-rules', { schema: { body: UserRuleBody } }, async (req, reply) => {
    const rule = await ctx.store.userRules.create(null, checkUserRule(req.body));
    changed(null);
    return reply.code(201).send(rule);
  });

  app.get<{ Params: UserRuleParams }>('/alerts/user-rules/:id', { schema: { params: UserRuleParams } }, async (req) =>
    requireRule(req.params.id),
  );

  app.put<{ Params: UserRuleParams; Body: UserRuleBody }>(
    '/alerts/user-rules/:id',
    { schema: { params: UserRuleParams, body: UserRuleBody } },
    async (req) => {
      const spec = checkUserRule(req.body);
      const before = await requireRule(req.params.id);
      const rule = await ctx.store.userRules.update(req.params.id, spec);
      if (!rule) throw gwError('GW_ERR_USER_RULE_NOT_FOUND', String(req.params.id));
      await closeAlerts(before, 'edited');
      changed(rule.run);
      return rule;
    },
  );

  app.delete<{ Params: UserRuleParams }>(
    '/alerts/user-rules/:id',
    { schema: { params: UserRuleParams } },
    async (req, reply) => {
      const rule = await requireRule(req.params.id);
      await ctx.store.userRules.delete(rule.id);
      await closeAlerts(rule, 'deleted');
      changed(rule.run);
      return reply.code(204).send();
    },
  );

  app.get<{ Params: RunParams }>('/runs/:id/alerts/user-rules', { schema: { params: RunParams } }, async (req) => {
    const run = await requireRun(ctx, req.params.id);
    return { rules: await ctx.store.userRules.forRun(run.rid) };
  });

  app.post<{ Params: RunParams; Body: UserRuleBody }>(
    '/runs/:id/alerts/user-rules',
    { schema: { params: RunParams, body: UserRuleBody } },
    async (req, reply) => {
      const run = await requireRun(ctx, req.params.id);
      const rule = await ctx.store.userRules.create(run.rid, checkUserRule(req.body));
      changed(run.id);
      return reply.code(201).send(rule);
    },
  );
}
