package gen

// Version is mgrgen's version.
const Version = "v0.1.0"

// GeneratedCodeVersion is the generated-code contract the output speaks; the output
// references mgr.SupportPackageIsVersionN with this N, so that a runtime that dropped
// it fails to compile the output.
const GeneratedCodeVersion = 2
