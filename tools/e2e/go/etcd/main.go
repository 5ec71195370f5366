// etcd from go.etcd.io/etcd/server/v3 (the module the Go proxy serves): the same entry point as the etcd binary.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
