// Builds the native kernels with node-gyp. A failed build is not fatal for users
// (the JS reference kernels run instead, with a warning), but CI sets
// LLMFORGE_REQUIRE_NATIVE=1 so a broken build fails loudly there.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

const required = process.env.LLMFORGE_REQUIRE_NATIVE === '1';
// Inside npm scripts npm names its bundled node-gyp; run by hand, look for it beside node.
const bundled = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
const gypScript = process.env.npm_config_node_gyp ?? (existsSync(bundled) ? bundled : undefined);
const [cmd, ...pre] = gypScript ? [process.execPath, gypScript] : ['node-gyp'];
// Build against the headers of the node that runs us when they are installed beside
// it (Debian's nodejs ships them), instead of downloading them.
const prefix = join(dirname(process.execPath), '..');
const localHeaders = !process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'));
const args = [...pre, 'rebuild', '--release', ...(localHeaders ? [`--nodedir=${prefix}`] : [])];
const result = spawnSync(cmd, args, { stdio: 'inherit', shell: process.platform === 'win32' });
if (result.status !== 0) {
  const msg = 'llmforge: the native kernels did not build; the JavaScript reference kernels will be used (much slower).';
  if (required) {
    process.stderr.write(`${msg}\nLLMFORGE_REQUIRE_NATIVE=1, so this is an error.\n`);
    process.exit(1);
  }
  process.stderr.write(`warning: ${msg}\n`);
}
