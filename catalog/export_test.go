package catalog

// StressKVCache makes s's KV cache hash keys with hash (colliding ones
// test the cache's handling of two keys on one slot) and compact its arena
// whenever garbage outweighs live records, then refills it.
func StressKVCache(s *Store, hash func([]byte) uint64) error {
	if hash != nil {
		s.kvc.hash = hash
	}
	s.kvc.minGarbage = 1
	return s.kvc.fill(s.db)
}
