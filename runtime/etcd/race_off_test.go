//go:build !race

package etcd_test

const raceBuild = false
