/**
 * What each binding kind is called wherever a user meets it: the deploy flag, the table in
 * flick.toml, the key in the admin API's deploy request and settings view, the label in
 * `flick info`, and the type `flick types` declares for `env.NAME`. Plain data, so the CLI
 * loads it without loading the platform (`flick --help` stays light).
 *
 * A binding kind is one folder here (docs/bindings.md); its settings descriptor is listed
 * below. The stored form of every kind is the same: `{ name, kind, target }`
 * (model/records.ts `Binding`), sorted by name.
 */
import { doSettings } from "./do/settings.ts";
import { kvSettings } from "./kv/settings.ts";
import { queueSettings } from "./queue/settings.ts";
import { serviceSettings } from "./service/settings.ts";
import { sqlSettings } from "./sql/settings.ts";

export interface BindingSettings {
  /** `Binding.kind` as stored, and the label in `flick info` ("API → users (service)"). */
  readonly kind: string;
  /** The deploy request's and settings view's map NAME → target, e.g. `serviceBindings`. */
  readonly apiKey: string;
  /** The deploy flag, `--<flag> NAME=TARGET`, and `--unset <flag>.NAME`. */
  readonly flag: string;
  /** The table under `[bindings]` in flick.toml: `[bindings.<table>]`. */
  readonly table: string;
  /** What a target must look like (a function's name, a namespace's …): the deploy request's check. */
  readonly target: { readonly pattern: RegExp; readonly rule: string };
  /** The flag's help line, after the flag itself. */
  readonly help: string;
  /** What `env.NAME` is, in `flick types`' declarations: a type name and its declaration. */
  readonly typeName: string;
  readonly typeDeclaration: string;
}

/** Every binding kind, in the order flags, help and `flick info` list them. */
export const bindingSettings = [serviceSettings, queueSettings, kvSettings, sqlSettings, doSettings] as const satisfies readonly BindingSettings[];

/** The deploy request's binding maps: `serviceBindings`, `queueBindings`. */
export type BindingApiKey = (typeof bindingSettings)[number]["apiKey"];

export const bindingApiKeys: readonly BindingApiKey[] = bindingSettings.map((k) => k.apiKey);
