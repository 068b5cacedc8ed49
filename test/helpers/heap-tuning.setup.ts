// Every test process runs under the V8 flags every process of the program
// sets (src/heap-tuning.ts): the vendor bundles' code caches are keyed to
// them, and the tests that load a bundle in their own process check its cache.
import { tuneHeap } from '../../src/heap-tuning';

tuneHeap();
