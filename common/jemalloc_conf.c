/*
 * jemalloc_conf.c - the jemalloc options of the newsdedup binaries.
 *
 * Compiled into every executable that links jemalloc (nd_link_allocator() in
 * the top CMakeLists.txt): jemalloc reads this symbol once, at start-up.
 * MALLOC_CONF in the environment is read after it and overrides it, e.g.
 * MALLOC_CONF=thp:default to leave huge pages to the kernel's setting.
 *
 * thp:always: jemalloc asks for transparent huge pages (MADV_HUGEPAGE) on the
 * memory it maps. The engine's adds probe band tables and records spread over
 * megabytes at random; with 4 KB pages most of those probes also miss the TLB,
 * and a page walk under virtualisation costs a few dependent memory accesses
 * more (docs/BENCHMARKS.md, "Session 7": the add stage ~5% faster here).
 * Where the kernel has huge pages disabled it changes nothing.
 */
const char *malloc_conf = "thp:always";
