package probes

import (
	"io"
	"net/http"
	"syscall"
	"time"
)

func syscallKill0(pid int) error { return syscall.Kill(pid, 0) }

var httpClient = &http.Client{Timeout: 10 * time.Second}

func httpGet(url string) (int, error) {
	resp, err := httpClient.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

func httpGetBody(url string) (string, error) {
	resp, err := httpClient.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}
