module github.com/eddy-streaming/eddy/sdk

go 1.26.8
