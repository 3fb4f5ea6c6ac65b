import { type NumericSetting, SETTINGS, type SettingName } from '../lambdas/contract/index.js';
import { type ConfigOptionName, type RealtimeConfig, type RealtimeConfigInput, StackConfigError } from './config.js';

/** The config without its unset options: an option left out is absent, not `undefined`. */
export function withoutUnset(config: RealtimeConfig): RealtimeConfig {
  return Object.fromEntries(Object.entries(config).filter(([, value]) => value !== undefined)) as RealtimeConfig;
}

/** How `CONFIG_OPTIONS` writes a setting's range, e.g. `integer 5..3600`. */
export function rangeText(setting: NumericSetting): string {
  return `${setting.integer ? 'integer' : 'number'} ${setting.min}..${setting.max}`;
}

/** `undefined`, `null` and blank strings (`-c key=`) all mean "not set". */
export function isUnset(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}

export function stringOption(input: RealtimeConfigInput, name: ConfigOptionName): string | undefined {
  const value = input[name];
  if (isUnset(value)) return undefined;
  if (typeof value !== 'string') throw new StackConfigError(name, `must be a string, got ${JSON.stringify(value)}`);
  return value.trim();
}

export function listOption(input: RealtimeConfigInput, name: ConfigOptionName): string[] | undefined {
  const value = input[name];
  if (isUnset(value)) return undefined;
  const items = typeof value === 'string' ? value.split(',') : Array.isArray(value) ? value : undefined;
  if (!items || items.some((item) => typeof item !== 'string')) {
    throw new StackConfigError(
      name,
      `must be a list of strings or a comma-separated string, got ${JSON.stringify(value)}`,
    );
  }
  const list = (items as string[]).map((item) => item.trim()).filter((item) => item.length > 0);
  return list.length > 0 ? list : undefined;
}

/** A numeric option, parsed and checked against its `SETTINGS` entry; `undefined` when unset. */
export function numericOption(input: RealtimeConfigInput, name: ConfigOptionName & SettingName): number | undefined {
  const setting: NumericSetting = SETTINGS[name];
  const value = input[name];
  if (isUnset(value)) return undefined;
  const parsed = typeof value === 'number' ? value : typeof value === 'string' ? Number(value.trim()) : Number.NaN;
  const valid = setting.integer ? Number.isInteger(parsed) : Number.isFinite(parsed);
  if (!valid || parsed < setting.min || parsed > setting.max) {
    throw new StackConfigError(
      name,
      `must be ${setting.integer ? 'an integer' : 'a number'} from ${setting.min} to ${setting.max}, got ${JSON.stringify(value)}`,
    );
  }
  return parsed;
}
