// etcd at the version the Kubernetes release pins, built in the same module so
// that its dependencies resolve together with the control plane's.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
