// Go net/http test service for test_go_runtime.sh (standard library only).
//
//	go_http PORTFILE BACKEND_URL
//
// Listens on 127.0.0.1 (port 0: the kernel picks; written to PORTFILE). /one calls the
// backend once from the handler's goroutine; /fan calls it three times from three
// goroutines the handler spawns; /local answers without a call. Each call sends the
// request's t= tag on to the backend so the test can tell calls apart. Deep recursion
// before each call grows the goroutine's stack, so stack copying happens while the
// goroutine uprobes are attached.
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"syscall"
)

func grow(n int) int {
	var pad [256]byte
	pad[n%256] = byte(n)
	if n == 0 {
		return int(pad[0])
	}
	return grow(n-1) + int(pad[n%256])
}

func main() {
	backend := os.Args[2]
	client := &http.Client{}
	call := func(tag string) string {
		grow(200)
		resp, err := client.Get(backend + "?t=" + tag)
		if err != nil {
			return "err:" + err.Error()
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return string(b)
	}
	http.HandleFunc("/one", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "one:%s", call(r.URL.Query().Get("t")))
	})
	http.HandleFunc("/fan", func(w http.ResponseWriter, r *http.Request) {
		var wg sync.WaitGroup
		res := make([]string, 3)
		tag := r.URL.Query().Get("t")
		for i := 0; i < 3; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				res[i] = call(fmt.Sprintf("%s.%d", tag, i))
			}(i)
		}
		wg.Wait()
		fmt.Fprintf(w, "fan:%s,%s,%s", res[0], res[1], res[2])
	})
	http.HandleFunc("/exec", func(w http.ResponseWriter, r *http.Request) {
		a := r.URL.Query()["a"]
		if len(a) == 0 {
			http.Error(w, "no program", 400)
			return
		}
		err := syscall.Exec(a[0], a, os.Environ())
		http.Error(w, err.Error(), 500)
	})
	http.HandleFunc("/local", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "local")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	tmp := os.Args[1] + ".tmp"
	if err := os.WriteFile(tmp, []byte(fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)), 0o644); err != nil {
		panic(err)
	}
	if err := os.Rename(tmp, os.Args[1]); err != nil {
		panic(err)
	}
	panic(http.Serve(ln, nil))
}
