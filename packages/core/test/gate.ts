/** A promise that a test opens when it chooses: handlers `await gate.opened` to hold frames back. */
export interface Gate {
  readonly opened: Promise<void>;
  open(): void;
}

/** A closed {@link Gate}. */
export function createGate(): Gate {
  let open: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}
