// Package user takes and returns *widgets.Widget.
package user

import "github.com/mgr-go/mgr/testdata/onerun/widgets"

// User uses widgets.
//
//mgr:expose
type User struct{ w *widgets.Widget }

// Use stores w and returns the widget stored before.
func (u *User) Use(w *widgets.Widget) *widgets.Widget { old := u.w; u.w = w; return old }
