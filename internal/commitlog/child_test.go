package commitlog

func runChildIfRequested() bool { return false }
