package gen

import (
	"go/types"

	"github.com/dave/jennifer/jen"
)

// Import paths the generated code uses.
const (
	runtimePath = "github.com/mgr-go/mgr/runtime/mgr"
	contextPath = "context"
)

// emitter writes one package's output file.
type emitter struct {
	f   *jen.File
	pkg *types.Package
	// tparams are the type parameter names of the exposed type being written. A method
	// or constructor may call its type parameters differently (func (b *Box[U]) ...);
	// the output always uses the declaration's names, matched by index.
	tparams []string
}

// qual renders path.name, telling jennifer the package's real name so it never invents
// an alias.
func (e *emitter) qual(pkg *types.Package, name string) *jen.Statement {
	if pkg == nil {
		return jen.Id(name) // a universe name: error, comparable, any
	}
	if pkg != e.pkg {
		e.f.ImportName(pkg.Path(), pkg.Name())
	}
	return jen.Qual(pkg.Path(), name)
}

// typ renders a go/types type as Go source.
func (e *emitter) typ(t types.Type) *jen.Statement {
	switch t := t.(type) {
	case *types.Alias:
		obj := t.Obj()
		if obj.Pkg() == nil || obj.Exported() || obj.Pkg() == e.pkg {
			return e.qual(obj.Pkg(), obj.Name()).Add(e.typeArgs(t.TypeArgs()))
		}
		return e.typ(types.Unalias(t)) // an unexported alias of another package
	case *types.Basic:
		return jen.Id(t.Name())
	case *types.Named:
		return e.qual(t.Obj().Pkg(), t.Obj().Name()).Add(e.typeArgs(t.TypeArgs()))
	case *types.TypeParam:
		return jen.Id(e.tparamName(t))
	case *types.Pointer:
		return jen.Op("*").Add(e.typ(t.Elem()))
	case *types.Slice:
		return jen.Index().Add(e.typ(t.Elem()))
	case *types.Array:
		return jen.Index(jen.Lit(int(t.Len()))).Add(e.typ(t.Elem()))
	case *types.Map:
		return jen.Map(e.typ(t.Key())).Add(e.typ(t.Elem()))
	case *types.Chan:
		// Only reachable from a type parameter's constraint.
		switch t.Dir() {
		case types.SendOnly:
			return jen.Chan().Op("<-").Add(e.typ(t.Elem()))
		case types.RecvOnly:
			return jen.Op("<-").Chan().Add(e.typ(t.Elem()))
		}
		return jen.Chan().Add(e.typ(t.Elem()))
	case *types.Struct:
		return jen.StructFunc(func(g *jen.Group) {
			for i := range t.NumFields() {
				f := t.Field(i)
				if f.Embedded() {
					g.Add(e.typ(f.Type()))
					continue
				}
				g.Id(f.Name()).Add(e.typ(f.Type()))
			}
		})
	case *types.Signature:
		return jen.Func().Add(e.signature(t))
	case *types.Union:
		return e.union(t)
	case *types.Interface:
		if t.Empty() {
			return jen.Id("any")
		}
		if t.IsImplicit() {
			// [T ~int | ~string]: the constraint is written without interface{}.
			return e.typ(t.EmbeddedType(0))
		}
		return jen.InterfaceFunc(func(g *jen.Group) {
			for i := range t.NumEmbeddeds() {
				g.Add(e.typ(t.EmbeddedType(i)))
			}
			for i := range t.NumExplicitMethods() {
				m := t.ExplicitMethod(i)
				g.Id(m.Name()).Add(e.signature(m.Type().(*types.Signature)))
			}
		})
	}
	return jen.Id(t.String()) // unreachable for validated input
}

// union renders ~int | string.
func (e *emitter) union(u *types.Union) *jen.Statement {
	terms := make([]jen.Code, u.Len())
	for i := range u.Len() {
		term := u.Term(i)
		if term.Tilde() {
			terms[i] = jen.Op("~").Add(e.typ(term.Type()))
		} else {
			terms[i] = e.typ(term.Type())
		}
	}
	return jen.Union(terms...)
}

// signature renders (params) (results) with types only.
func (e *emitter) signature(sig *types.Signature) *jen.Statement {
	params := make([]jen.Code, sig.Params().Len())
	for i := range params {
		t := sig.Params().At(i).Type()
		if sig.Variadic() && i == len(params)-1 {
			params[i] = jen.Op("...").Add(e.typ(t.(*types.Slice).Elem()))
			continue
		}
		params[i] = e.typ(t)
	}
	results := make([]jen.Code, sig.Results().Len())
	for i := range results {
		results[i] = e.typ(sig.Results().At(i).Type())
	}
	s := jen.Params(params...)
	switch len(results) {
	case 0:
	case 1:
		s.Add(results[0])
	default:
		s.Params(results...)
	}
	return s
}

// typeArgs renders [A, B], or nothing.
func (e *emitter) typeArgs(l *types.TypeList) jen.Code {
	if l.Len() == 0 {
		return jen.Null()
	}
	args := make([]jen.Code, l.Len())
	for i := range args {
		args[i] = e.typ(l.At(i))
	}
	return jen.Types(args...)
}

func (e *emitter) tparamName(tp *types.TypeParam) string {
	if i := tp.Index(); i >= 0 && i < len(e.tparams) {
		return e.tparams[i]
	}
	return tp.Obj().Name()
}

// typeParamsDecl renders [T any, K comparable] for declaring generic funcs and types.
func (e *emitter) typeParamsDecl(t *exposedType) jen.Code {
	if !t.generic() {
		return jen.Null()
	}
	params := make([]jen.Code, t.tparams.Len())
	for i := range params {
		tp := t.tparams.At(i)
		params[i] = jen.Id(tp.Obj().Name()).Add(e.typ(tp.Constraint()))
	}
	return jen.Types(params...)
}

// typeParamsUse renders [T, K] for using the exposed type's own parameters.
func (e *emitter) typeParamsUse(t *exposedType) jen.Code {
	if !t.generic() {
		return jen.Null()
	}
	params := make([]jen.Code, t.tparams.Len())
	for i := range params {
		params[i] = jen.Id(t.tparams.At(i).Obj().Name())
	}
	return jen.Types(params...)
}

// targsUse renders the type arguments of a proxy target: [int], or nothing.
func (e *emitter) targsUse(targs []types.Type) jen.Code {
	if len(targs) == 0 {
		return jen.Null()
	}
	args := make([]jen.Code, len(targs))
	for i, t := range targs {
		args[i] = e.typ(t)
	}
	return jen.Types(args...)
}

// exposedName renders a name declared next to the exposed type t (t itself, TProxy,
// TTypeID): bare in t's own package, qualified (other.TProxy) in another.
func (e *emitter) exposedName(t *exposedType, suffix string) *jen.Statement {
	return e.qual(t.obj.Pkg(), t.name+suffix)
}

// proxyType renders *XProxy[A] (or *other.XProxy[A]) for a value that travels as a
// proxy.
func (e *emitter) proxyType(w wire) *jen.Statement {
	return jen.Op("*").Add(e.exposedName(w.target, "Proxy")).Add(e.targsUse(w.targs))
}

// typeIDExpr renders the TypeID of a proxy target: XTypeID, or XTypeID[A](), qualified
// when X is another package's.
func (e *emitter) typeIDExpr(target *exposedType, targs jen.Code) *jen.Statement {
	if !target.generic() {
		return e.exposedName(target, "TypeID")
	}
	return e.exposedName(target, "TypeID").Add(targs).Call()
}

// apiType renders the type of v as the proxy's API shows it: a proxy for an exposed
// pointer, the Go type otherwise.
func (e *emitter) apiType(v *value) *jen.Statement {
	if v.wire.kind == wireProxy {
		return e.proxyType(v.wire)
	}
	return e.typ(v.typ)
}

// conv renders v converted to the basic type the codec speaks, unless it already is it.
func conv(basic types.BasicKind, t types.Type, v jen.Code) jen.Code {
	if types.Identical(t, types.Typ[basic]) {
		return v
	}
	return jen.Id(types.Typ[basic].Name()).Call(v)
}

// encode renders the statements that append variable v (of type val.typ) to the
// Encoder enc. server tells the side: a proxy value is a handle on the client and a
// new object on the server.
func (e *emitter) encode(enc func() *jen.Statement, val *value, v string, server bool) []jen.Code {
	id := jen.Id(v)
	t := val.typ
	w := val.wire
	switch w.kind {
	case wireBool:
		return []jen.Code{enc().Dot("Bool").Call(conv(types.Bool, t, id))}
	case wireInt:
		return []jen.Code{enc().Dot("Int64").Call(conv(types.Int64, t, id))}
	case wireUint:
		return []jen.Code{enc().Dot("Uint64").Call(conv(types.Uint64, t, id))}
	case wireFloat64:
		return []jen.Code{enc().Dot("Float64").Call(conv(types.Float64, t, id))}
	case wireFloat32:
		return []jen.Code{enc().Dot("Float32").Call(conv(types.Float32, t, id))}
	case wireComplex:
		return []jen.Code{enc().Dot("Complex128").Call(conv(types.Complex128, t, id))}
	case wireString:
		return []jen.Code{enc().Dot("String").Call(conv(types.String, t, id))}
	case wireBytes:
		if types.Identical(t, types.NewSlice(types.Typ[types.Byte])) {
			return []jen.Code{enc().Dot("ByteSlice").Call(id)}
		}
		return []jen.Code{enc().Dot("ByteSlice").Call(jen.Index().Byte().Call(id))}
	case wireTime:
		return []jen.Code{enc().Dot("Time").Call(id)}
	case wireDuration:
		return []jen.Code{enc().Dot("Duration").Call(id)}
	case wireError:
		return []jen.Code{enc().Dot("Error").Call(id)}
	case wireProxy:
		if !server {
			// c.Args.Ref(mgr.HandleOf(v))
			return []jen.Code{enc().Dot("Ref").Call(jen.Qual(runtimePath, "HandleOf").Call(id))}
		}
		// A nil *T must reach Object as a nil interface, not as a non-nil any holding nil.
		//	if v == nil { res.Object(ID, nil) } else { res.Object(ID, v) }
		tid := e.typeIDExpr(w.target, e.targsUse(w.targs))
		return []jen.Code{jen.If(id.Clone().Op("==").Nil()).Block(
			enc().Dot("Object").Call(tid.Clone(), jen.Nil()),
		).Else().Block(
			enc().Dot("Object").Call(tid, id),
		)}
	}
	// e.Value(&v)
	return []jen.Code{enc().Dot("Value").Call(jen.Op("&").Id(v))}
}

// decode renders the statements that read a value of val's type from the Decoder dec
// into variable v, declaring v when declare is set (server side) or assigning to an
// existing v (client side).
func (e *emitter) decode(dec func() *jen.Statement, val *value, v string, declare bool) []jen.Code {
	t := val.typ
	w := val.wire
	assign := func(expr jen.Code) []jen.Code {
		if declare {
			return []jen.Code{jen.Id(v).Op(":=").Add(expr)}
		}
		return []jen.Code{jen.Id(v).Op("=").Add(expr)}
	}
	// back converts expr, of basic type have, to t unless they are the same type.
	back := func(have types.BasicKind, expr jen.Code) jen.Code {
		if types.Identical(t, types.Typ[have]) {
			return expr
		}
		return e.typ(t).Call(expr)
	}
	switch w.kind {
	case wireBool:
		return assign(back(types.Bool, dec().Dot("Bool").Call()))
	case wireInt:
		switch w.bits {
		case 0:
			return assign(back(types.Int, dec().Dot("Int").Call()))
		case 64:
			return assign(back(types.Int64, dec().Dot("Int64").Call()))
		}
		return assign(back(types.Int64, dec().Dot("IntN").Call(jen.Lit(w.bits))))
	case wireUint:
		switch w.bits {
		case 0:
			// uint and uintptr are as wide as the platform's word.
			return assign(back(types.Uint64, dec().Dot("UintN").Call(jen.Qual("math/bits", "UintSize"))))
		case 64:
			return assign(back(types.Uint64, dec().Dot("Uint64").Call()))
		}
		return assign(back(types.Uint64, dec().Dot("UintN").Call(jen.Lit(w.bits))))
	case wireFloat64:
		return assign(back(types.Float64, dec().Dot("Float64").Call()))
	case wireFloat32:
		return assign(back(types.Float32, dec().Dot("Float32").Call()))
	case wireComplex:
		return assign(back(types.Complex128, dec().Dot("Complex128").Call()))
	case wireString:
		return assign(back(types.String, dec().Dot("String").Call()))
	case wireBytes:
		if types.Identical(t, types.NewSlice(types.Typ[types.Byte])) {
			return assign(dec().Dot("ByteSlice").Call())
		}
		return assign(e.typ(t).Call(dec().Dot("ByteSlice").Call()))
	case wireTime:
		return assign(dec().Dot("Time").Call())
	case wireDuration:
		return assign(dec().Dot("Duration").Call())
	case wireError:
		return assign(dec().Dot("Error").Call())
	case wireProxy:
		tid := e.typeIDExpr(w.target, e.targsUse(w.targs))
		if declare {
			// Server: the argument names an object in this manager; pass the object.
			//	v, _ := args.Referent(ID).(*T)
			concrete := jen.Op("*").Add(e.exposedName(w.target, "")).Add(e.targsUse(w.targs))
			return []jen.Code{jen.List(jen.Id(v), jen.Id("_")).Op(":=").Add(
				dec().Dot("Referent").Call(tid).Assert(concrete))}
		}
		// Client: the result is a new reference; wrap it in a proxy.
		//	if h := res.Handle(); h != nil { v = &TProxy{ProxyBase: mgr.MakeProxyBase(h)} }
		return []jen.Code{jen.If(jen.Id("h").Op(":=").Add(dec().Dot("Handle").Call()), jen.Id("h").Op("!=").Nil()).Block(
			jen.Id(v).Op("=").Add(e.newProxy(w.target, e.targsUse(w.targs), jen.Id("h"))),
		)}
	}
	// var v T; dec.Value(&v)
	read := dec().Dot("Value").Call(jen.Op("&").Id(v))
	if declare {
		return []jen.Code{jen.Var().Id(v).Add(e.typ(t)), read}
	}
	return []jen.Code{read}
}

// newProxy renders &TProxy[A]{ProxyBase: mgr.MakeProxyBase(h)}, or &other.TProxy[A]{...}
// for another package's T: ProxyBase is an exported embedded field and MakeProxyBase an
// exported function, so any package can wrap a handle in any generated proxy.
func (e *emitter) newProxy(t *exposedType, targs jen.Code, h jen.Code) *jen.Statement {
	return jen.Op("&").Add(e.exposedName(t, "Proxy")).Add(targs).Values(jen.Dict{
		jen.Id("ProxyBase"): jen.Qual(runtimePath, "MakeProxyBase").Call(h),
	})
}
