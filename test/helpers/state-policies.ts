/** The policies the kill -9 test's writer applies (test/helpers/state-writer.ts), shared with the test. */
import { validateConfig } from '../../src/config/load.js';
import { FAKE_CONFIG_INPUT } from './fake-dataplane.js';

/** The policy of a generation: its content says which generation it is. */
export function policyFor(generation: number) {
  return {
    translate: { ipv4: [{ from: '10.0.0.0/16', to: `10.${(generation % 200) + 1}.0.0/16` }] },
    sessions: Array.from({ length: 24 }, (_, i) => ({ id: generation * 100 + i, description: `generation ${generation}`, filters: [{ protocol: 'tcp', dst_ports: 1000 + i }] })),
  };
}

export function writerConfig(runDir: string) {
  return validateConfig({ ...FAKE_CONFIG_INPUT, run_dir: runDir });
}

