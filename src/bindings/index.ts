export { bindingApiKeys, bindingSettings, type BindingApiKey, type BindingSettings } from "./settings.ts";
