// Package python shows types served to CPython clients (python=): mgrgen registers
// their Python faces, with snake_case method names unless pyname= gives another.
package python

// Thermo is created by Python clients as typeid Thermo.
//
//mgr:expose python=Thermo pyname=Celsius:get_celsius
type Thermo struct {
	c float64
}

// Celsius returns the temperature (get_celsius in Python).
func (t *Thermo) Celsius() float64 { return t.c }

// SetCelsius sets it (set_celsius in Python).
func (t *Thermo) SetCelsius(c float64) { t.c = c }

// Label names the reading (label in Python).
func (t *Thermo) Label(prefix string, digits int8) (string, bool) { return prefix, digits > 0 }

// Raw is bytes in Python.
func (t *Thermo) Raw() []byte { return nil }

// Shared is served as a shared instance only (nocreate).
//
//mgr:expose nocreate python=get_shared
type Shared struct{}

// Ping answers.
func (*Shared) Ping() bool { return true }

// Scale multiplies by "factor" \ a divisor; its parameter names are Python keywords or
// blank, which the typed proxy method renames ("""quoted""").
func (t *Thermo) Scale(from, in float64, _ uint16) float64 { return t.c * from / in }
