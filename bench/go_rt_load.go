// Load loop for the Go uprobe cost (docs/kernel.md, "Go runtime"): an HTTP server and
// client in one process on 127.0.0.1. Each request runs one client roundTrip (uprobe),
// and spawns two goroutines on the server (net/http's background reader and one in the
// handler): three uprobe hits and one uretprobe per request plus four socket syscalls.
//
//	go_rt_load SECONDS CONCURRENCY   -> prints "requests=N seconds=S rps=R"
//
// CONCURRENCY 0 only idles for SECONDS: run under another name (a hard link: same
// inode, so the same uprobes) and registered with the agent, it gets the probes attached
// while the measured copy stays out of scope, which measures the trap alone.
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	secs, _ := strconv.Atoi(os.Args[1])
	conc, _ := strconv.Atoi(os.Args[2])
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		done := make(chan struct{})
		go func() { close(done) }()
		<-done
		io.WriteString(w, "ok")
	})
	go http.Serve(ln, nil)
	if conc == 0 {
		time.Sleep(time.Duration(secs) * time.Second)
		return
	}
	url := "http://" + ln.Addr().String() + "/"
	tr := &http.Transport{MaxIdleConnsPerHost: conc}
	client := &http.Client{Transport: tr}
	var n int64
	stop := time.Now().Add(time.Duration(secs) * time.Second)
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < conc; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				resp, err := client.Get(url)
				if err != nil {
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				atomic.AddInt64(&n, 1)
			}
		}()
	}
	wg.Wait()
	el := time.Since(start).Seconds()
	fmt.Printf("requests=%d seconds=%.2f rps=%.0f\n", n, el, float64(n)/el)
}
