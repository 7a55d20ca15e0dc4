/**
 * The machine refuses what the settings ask for (the port is taken, the data dir cannot be
 * written): one line naming the setting, no stack. The CLI exits 2 on it, as on a ConfigError.
 */
export class StartupError extends Error {
  constructor(message: string, options?: { cause: unknown }) {
    super(message, options);
    this.name = 'StartupError';
  }
}
