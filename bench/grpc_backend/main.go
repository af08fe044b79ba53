// The gRPC backend of bench/grpc.py: grpc-go's standard health service
// (grpc.health.v1.Health/Check answers SERVING), h2c on the given address.
// Unary calls with a tiny message measure the proxies, not the backend.
package main

import (
	"flag"
	"log"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func main() {
	addr := flag.String("listen", "127.0.0.1:50051", "address to listen on")
	flag.Parse()
	listener, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	server := grpc.NewServer()
	healthpb.RegisterHealthServer(server, health.NewServer())
	log.Printf("listening on %s", *addr)
	log.Fatal(server.Serve(listener))
}
