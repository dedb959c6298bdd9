// Preloaded into the js-ipfs daemon (NODE_OPTIONS=--require tests/node/ipfs-polyfill.cjs).
// js-ipfs 0.66 pulls in libraries that call Promise.withResolvers, which Node gained only in
// 22; on Node 20 the daemon dies at start without it. Standard semantics (TC39, ES2024).
'use strict'
if (typeof Promise.withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers () {
      let resolve, reject
      const promise = new this((res, rej) => { resolve = res; reject = rej })
      return { promise, resolve, reject }
    }
  })
}
