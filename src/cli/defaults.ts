// Shared CLI defaults: the config file every command reads unless -c says otherwise.
export const DEFAULT_CONFIG = 'config/abproxy.yaml';
export const CONFIG_FLAG = '-c, --config <file>';
export const CONFIG_HELP = 'config file (YAML or JSON)';
