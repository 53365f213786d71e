package bundle

import "time"

func nowSeconds() float64 { return float64(time.Now().UnixNano()) / 1e9 }
