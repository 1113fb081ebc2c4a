// Architectures "go" and "go_fanout": a net/http server (a goroutine per connection,
// goroutines scheduled over a few OS threads) calling the backend with an http.Client
// (default transport: keep-alive, 2 idle connections per host).
//
//	svc -port-file FILE -backend HOST:PORT [-fanout]
//
// GET /r/<id> answers 200 with the backend's body; with -fanout three backend requests
// (/b/<id>/0..2) run in parallel goroutines and the bodies are joined in that order.
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"sync"
	"time"
)

var pathRE = regexp.MustCompile(`^/r/([0-9]+)$`)

type answer struct {
	status int
	body   []byte
	err    error
}

func get(client *http.Client, url string) answer {
	resp, err := client.Get(url)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, body: body, err: err}
}

func main() {
	portFile := flag.String("port-file", "", "write the listening port here")
	backend := flag.String("backend", "", "host:port of the backend")
	fanout := flag.Bool("fanout", false, "three backend calls in parallel goroutines")
	flag.Parse()

	client := &http.Client{Timeout: 10 * time.Second}
	base := "http://" + *backend
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		m := pathRE.FindStringSubmatch(r.URL.Path)
		if m == nil {
			http.Error(w, "svc: bad path", http.StatusBadRequest)
			return
		}
		var answers []answer
		if *fanout {
			answers = make([]answer, 3)
			var wg sync.WaitGroup
			for k := range answers {
				wg.Add(1)
				go func(k int) {
					defer wg.Done()
					answers[k] = get(client, fmt.Sprintf("%s/b/%s/%d", base, m[1], k))
				}(k)
			}
			wg.Wait()
		} else {
			answers = []answer{get(client, base+"/b/"+m[1])}
		}
		var body []byte
		for _, a := range answers {
			if a.err != nil || a.status != http.StatusOK {
				http.Error(w, fmt.Sprintf("svc: backend answered %d %v", a.status, a.err), http.StatusBadGateway)
				return
			}
			body = append(body, a.body...)
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.Write(body)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	tmp := *portFile + ".tmp"
	os.WriteFile(tmp, []byte(fmt.Sprintf("%d\n", ln.Addr().(*net.TCPAddr).Port)), 0o644)
	os.Rename(tmp, *portFile)
	fmt.Fprintln(os.Stderr, http.Serve(ln, nil))
	os.Exit(1)
}
