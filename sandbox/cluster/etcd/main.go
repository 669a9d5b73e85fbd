// Command etcd is etcd's own server entry point, built from the module proxy
// because the distribution's etcd is too old for the pinned kube-apiserver.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
