// A basic authenticated smoke test, in Go: log in once per user, then list products
// (3), view a product (2) and read the profile (1).
package main

import (
	"os"
	"strconv"
	"time"

	"stampede.dev/sdk/stampede"
)

type shopper struct {
	token string
}

func millis(key string, def int) time.Duration {
	n, err := strconv.Atoi(stampede.Env(key, strconv.Itoa(def)))
	if err != nil {
		n = def
	}
	return time.Duration(n) * time.Millisecond
}

func login() (*shopper, error) {
	// The language's own environment API sees the run's --env, and only it.
	stampede.Check("environment is --env", os.Getenv("WAIT_MIN_MS") == stampede.Env("WAIT_MIN_MS", ""))
	r, err := stampede.Post("/api/v1/auth/login",
		stampede.Name("POST /api/v1/auth/login"),
		stampede.JSON(map[string]string{
			"email":    stampede.Env("EMAIL", "qa@example.com"),
			"password": stampede.Env("PASSWORD", "demo-password"),
		}),
		stampede.ReadBody(),
	)
	if err != nil {
		return nil, err
	}
	if !stampede.Check("login succeeded", r.Status == 200) {
		return nil, stampede.Failf("login failed with status %d", r.Status)
	}
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := r.JSON(&body); err != nil {
		return nil, err
	}
	return &shopper{token: body.AccessToken}, nil
}

// get is one named GET with the user's token, checked for a 200.
func (s *shopper) get(check, name, url string, opts ...stampede.Option) error {
	opts = append(opts, stampede.Name(name), stampede.Bearer(s.token))
	r, err := stampede.Get(url, opts...)
	if err != nil {
		return err
	}
	stampede.Check(check, r.Status == 200)
	return r.ExpectStatus(200)
}

func (s *shopper) listProducts() error {
	return s.get("products listed", "GET /api/v1/products", "/api/v1/products",
		stampede.Query("category", "electronics"), stampede.Query("page", "1"), stampede.Query("limit", "20"))
}

func (s *shopper) viewProduct() error {
	return s.get("product found", "GET /api/v1/products/:sku", "/api/v1/products/SKU-104582")
}

func (s *shopper) myProfile() error {
	return s.get("profile authorized", "GET /api/v1/users/me", "/api/v1/users/me")
}

func init() {
	stampede.Register(stampede.User[shopper]{
		// Evaluated when the run starts, so it may read --env.
		Wait: func() stampede.WaitTime {
			return stampede.Between(millis("WAIT_MIN_MS", 1000), millis("WAIT_MAX_MS", 3000))
		},
		OnStart: login,
		Tasks: []stampede.Task[shopper]{
			{Name: "list_products", Weight: 3, Run: (*shopper).listProducts},
			{Name: "view_product", Weight: 2, Run: (*shopper).viewProduct},
			{Name: "my_profile", Weight: 1, Run: (*shopper).myProfile},
		},
	})
}

func main() {}
