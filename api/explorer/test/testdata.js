// Where the repository's test vectors live: testdata/ at the workspace root.
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const TESTDATA = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..', 'testdata');
