package main

import "github.com/dacline/dacline/shared/lineproto"

func runnerClientOptions(baud int) lineproto.ClientOptions {
	return lineproto.ClientOptions{Baud: baud}
}
