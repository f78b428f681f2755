// The etcd server, built from the Go module proxy: etcd's own server module carries local replace
// directives, so `go install go.etcd.io/etcd/server/v3@...` is refused; a wrapper module is not.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
