/**
 * Each option's documented default (its TSDoc `@default`, what users see in their editor) is the
 * value its feature's defaults literal holds: read from the source, no database.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { OPTION_KEYS } from '../lib/config';
import { ALERT_DEFAULTS } from '../lib/alerts/options';
import { WEBHOOK_DEFAULTS } from '../lib/alerts/webhookOptions';
import { AUTH_DEFAULTS } from '../lib/auth/options';
import { CAPTURE_DEFAULTS } from '../lib/capture/options';
import { SESSION_DEFAULTS } from '../lib/capture/sessionOptions';
import { JOB_DEFAULTS } from '../lib/jobs/options';
import { RECORDER_DEFAULTS } from '../lib/recorder/options';
import { RISK_DEFAULTS } from '../lib/risk/options';
import { REPORT_DEFAULTS } from '../lib/router/options';
import { STORE_DEFAULTS } from '../lib/store/options';
import { TRACKER_DEFAULTS } from '../lib/trackerOptions';

interface Documented {
  /** The option interface, declared in `file`. */
  name: string;
  file: string;
  /** What the code falls back to for each option of the interface that has a value by default. */
  defaults: object;
  /** Its members are top-level keys of Options. */
  topLevel: boolean;
}

const { ruleSettings, ...alertOptionDefaults } = ALERT_DEFAULTS;

const DOCUMENTED: Documented[] = [
  { name: 'StoreOptions', file: 'lib/store/options.ts', defaults: STORE_DEFAULTS, topLevel: true },
  { name: 'CaptureOptions', file: 'lib/capture/options.ts', defaults: CAPTURE_DEFAULTS, topLevel: true },
  { name: 'SessionOptions', file: 'lib/capture/sessionOptions.ts', defaults: SESSION_DEFAULTS, topLevel: true },
  { name: 'AuthOptions', file: 'lib/auth/options.ts', defaults: AUTH_DEFAULTS, topLevel: true },
  { name: 'ReportOptions', file: 'lib/router/options.ts', defaults: REPORT_DEFAULTS, topLevel: true },
  { name: 'JobOptions', file: 'lib/jobs/options.ts', defaults: JOB_DEFAULTS, topLevel: true },
  { name: 'RetentionGroupOptions', file: 'lib/jobs/retentionOptions.ts', defaults: {}, topLevel: true },
  { name: 'RetentionArchiveOptions', file: 'lib/jobs/retentionOptions.ts', defaults: {}, topLevel: false },
  { name: 'RecorderOptions', file: 'lib/recorder/options.ts', defaults: RECORDER_DEFAULTS, topLevel: true },
  { name: 'RiskScoringOptions', file: 'lib/risk/options.ts', defaults: {}, topLevel: true },
  { name: 'AlertingOptions', file: 'lib/alerts/options.ts', defaults: {}, topLevel: true },
  { name: 'TrackerOptions', file: 'lib/trackerOptions.ts', defaults: TRACKER_DEFAULTS, topLevel: true },
  { name: 'RiskOptions', file: 'lib/risk/options.ts', defaults: RISK_DEFAULTS, topLevel: false },
  { name: 'AlertOptions', file: 'lib/alerts/options.ts', defaults: alertOptionDefaults, topLevel: false },
  { name: 'AlertRuleSettings', file: 'lib/alerts/options.ts', defaults: ruleSettings, topLevel: false },
  { name: 'AlertWebhookOptions', file: 'lib/alerts/webhookOptions.ts', defaults: WEBHOOK_DEFAULTS, topLevel: false },
];

interface Member {
  key: string;
  optional: boolean;
  /** The text of each `@default` tag of its TSDoc. */
  defaultTags: string[];
}

function membersOf({ name, file }: Documented): Member[] {
  const full = path.join(__dirname, '..', file);
  const source = ts.createSourceFile(full, readFileSync(full, 'utf8'), ts.ScriptTarget.Latest, true);
  const declaration = source.statements.find((s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === name);
  if (!declaration) throw new Error(`${file} declares no interface ${name}`);
  return declaration.members.filter(ts.isPropertySignature).map((member) => ({
    key: member.name.getText(source),
    optional: member.questionToken !== undefined,
    defaultTags: ts.getJSDocTags(member).filter((tag) => tag.tagName.text === 'default').map((tag) => ts.getTextOfJSDocComment(tag.comment) ?? ''),
  }));
}

/** The value a `@default` text writes as a JavaScript literal; undefined when it is words ("none", "`req.user.id`, then …"). */
function literalOf(text: string): { value: unknown } | undefined {
  try {
    return { value: new Function(`return (${text});`)() };
  } catch {
    return undefined;
  }
}

describe.each(DOCUMENTED)('the documented defaults of $name ($file)', (documented) => {
  const members = membersOf(documented);
  const defaults = documented.defaults as Record<string, unknown>;

  it('give each optional member one @default', () => {
    expect(members.filter((m) => m.optional && m.defaultTags.length !== 1).map((m) => m.key)).toEqual([]);
  });

  it.each(members.filter((m) => m.optional).map((m) => [m.key, m] as const))('%s: the @default is the value the code falls back to', (key, member) => {
    const literal = literalOf(member.defaultTags[0] ?? '');
    if (Object.hasOwn(defaults, key)) {
      expect(literal).toBeDefined();
      expect(literal?.value).toStrictEqual(defaults[key]);
    } else {
      // Words for what is computed at start-up (or nothing); a literal here would be a default the code lacks.
      expect([member.defaultTags[0], literal]).toEqual([member.defaultTags[0], undefined]);
    }
  });

  it('document every default the code has', () => {
    const documentedKeys = members.map((m) => m.key);
    expect(Object.keys(defaults).filter((key) => !documentedKeys.includes(key))).toEqual([]);
  });
});

it('the feature interfaces together document every option, once', () => {
  const keys = DOCUMENTED.filter((d) => d.topLevel).flatMap((d) => membersOf(d).map((m) => m.key));
  expect([...keys].sort()).toEqual(Object.keys(OPTION_KEYS).sort());
});
