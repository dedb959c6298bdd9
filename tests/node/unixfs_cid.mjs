// Reference CID for a file, computed by ipfs-unixfs-importer (the js-ipfs / Helia importer)
// with the parameters of `ipfs add --cid-version 1 --raw-leaves`:
// 256 KiB fixed-size chunks, raw leaves, balanced layout with at most 174 links per node,
// a single-chunk file reduced to its raw leaf, CIDv1, sha2-256, base32.
//
// Usage (from the repo root): node tests/node/unixfs_cid.mjs FILE [CHUNK_SIZE]
// Prints the CID on stdout. CHUNK_SIZE (default 262144) exists only so the tests can build
// deep trees from little data; the notary CID always uses 262144.
// Used by tests/unit/test_cid.py to cross-check notary.core.cid.
import { createReadStream } from 'node:fs'
import { importer } from 'ipfs-unixfs-importer'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced } from 'ipfs-unixfs-importer/layout'

// The importer only needs somewhere to put blocks; we only want the CID, so keep nothing.
const blockstore = {
  async put (cid) { return cid },
  async get () { throw new Error('blockstore: get is not supported') },
  async has () { return false }
}

const path = process.argv[2]
const chunkSize = process.argv[3] == null ? 262144 : Number(process.argv[3])
if (path == null || !Number.isSafeInteger(chunkSize) || chunkSize < 1) {
  process.stderr.write('usage: node tests/node/unixfs_cid.mjs FILE [CHUNK_SIZE]\n')
  process.exit(2)
}

const options = {
  cidVersion: 1,
  rawLeaves: true,
  chunker: fixedSize({ chunkSize }),
  layout: balanced({ maxChildrenPerNode: 174 }),
  reduceSingleLeafToSelf: true,
  wrapWithDirectory: false
}

let root
for await (const entry of importer([{ content: createReadStream(path) }], blockstore, options)) {
  root = entry
}
if (root == null) {
  process.stderr.write('importer produced nothing\n')
  process.exit(1)
}
process.stdout.write(root.cid.toString() + '\n')
