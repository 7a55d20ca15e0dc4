/**
 * SIGTERM/SIGINT as an AbortSignal, installed first thing in the process. The first signal asks
 * for a graceful stop; a second one exits at once.
 */
const controller = new AbortController();
let received: NodeJS.Signals | undefined;

export const stopSignal = {
  signal: controller.signal,
  get received(): NodeJS.Signals | undefined {
    return received;
  },
  install(): void {
    for (const name of ['SIGTERM', 'SIGINT'] as const) {
      process.on(name, () => {
        if (received !== undefined) process.exit(1);
        received = name;
        controller.abort();
      });
    }
  },
};
