// Detector parameters are typed: each rule declares its defaults, paramsOf returns exactly those names (a misspelt
// one does not compile), overrides replace them one by one, and settings naming a parameter a rule does not declare
// are refused before anything is stored (the API side of this is in alerts-api.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isGanwatchError } from '../../protocol/errors.js';
import { checkRules, mergeSettings } from '../../server/alerts/config.js';
import { paramsOf } from '../../server/alerts/detectors/common.js';
import { DETECTOR_FACTORIES } from '../../server/alerts/registry.js';
import type { RuleSettings } from '../../server/alerts/types.js';

const DEFAULTS = {
  enabled: true,
  for: 1,
  clear: 1,
  cooldown: 0,
  params: { span: 200, enter: 0.95 },
} satisfies RuleSettings;

test('paramsOf gives each declared parameter, overridden where the settings say, and typed by the defaults', () => {
  const p = paramsOf({ settings: mergeSettings(DEFAULTS, { params: { enter: 0.9 } }) }, DEFAULTS);
  assert.deepEqual(p, { span: 200, enter: 0.9 });
  // @ts-expect-error a misspelt parameter does not compile (it used to read as undefined, and compute NaN)
  assert.equal(p.entr, undefined);
});

test('paramsOf leaves out names the rule does not declare (settings stored before names were checked)', () => {
  const stored = mergeSettings(DEFAULTS, { params: { enter: 0.9, entr: 0.5 } });
  assert.deepEqual(paramsOf({ settings: stored }, DEFAULTS), { span: 200, enter: 0.9 });
});

test('checkRules refuses a parameter a rule does not declare, naming the rule, the name and the known ones', () => {
  assert.doesNotThrow(() =>
    checkRules({ rules: { d_overpowering: { params: { accEnter: 0.9 } } } }, DETECTOR_FACTORIES),
  );
  const err = ((): unknown => {
    try {
      checkRules({ rules: { early_stop: { params: { patience: 5, patiense: 5 } } } }, DETECTOR_FACTORIES);
    } catch (e) {
      return e;
    }
    return null;
  })();
  assert.ok(isGanwatchError(err), String(err));
  assert.equal(err.code, 'GW_ERR_UNKNOWN_RULE_PARAM');
  assert.equal(err.status, 400);
  assert.match(
    err.message,
    /^Alert rule 'early_stop' has no parameter 'patiense'; its parameters: metric, mode, patience,/,
  );
});

test('every rule declares its parameters as finite numbers', () => {
  for (const f of DETECTOR_FACTORIES) {
    const params = Object.entries(f.defaults.params);
    assert.ok(params.length > 0, f.rule);
    for (const [name, value] of params) assert.ok(Number.isFinite(value), `${f.rule}.${name} = ${value}`);
  }
});
