/** Runs the llmforge CLI inside the test process, capturing stdout and stderr; commander's exits become throws. */
import type { Command } from 'commander';
import { vi } from 'vitest';
import { buildProgram } from '../src/cli/main.js';

export async function runCli(args: string[]): Promise<{ stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    stdout += String(s);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
    stderr += String(s);
    return true;
  });
  try {
    const program = buildProgram();
    const noExit = (c: Command): void => {
      c.exitOverride();
      c.commands.forEach(noExit);
    };
    noExit(program);
    await program.parseAsync(['node', 'llmforge', ...args]);
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  return { stdout, stderr };
}
