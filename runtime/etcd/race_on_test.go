//go:build race

package etcd_test

// raceBuild scales load tests down under the race detector (ten times slower).
const raceBuild = true
