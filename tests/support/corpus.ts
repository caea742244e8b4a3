/**
 * Where the shared capture corpus is: BPFSCOPE_CORPUS_DIR when set, otherwise `shared/corpus`
 * beside the checkout (the layout the project is developed and tested in). Every test that reads
 * the corpus finds it here, so its location is decided in one place, and a missing file fails with
 * a sentence saying where it was looked for and how to point the tests elsewhere.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

const REPO = path.resolve(import.meta.dirname, '../..');

export const CORPUS_DIR = process.env.BPFSCOPE_CORPUS_DIR ?? path.resolve(REPO, '../shared/corpus');

/** The path of a corpus file; throws when it is not there. */
export function corpusPath(name: string): string {
  const file = path.join(CORPUS_DIR, name);
  if (!existsSync(file)) {
    throw new Error(`corpus file ${file} not found: the tests expect the shared corpus beside the checkout (../shared/corpus) or in BPFSCOPE_CORPUS_DIR`);
  }
  return file;
}
