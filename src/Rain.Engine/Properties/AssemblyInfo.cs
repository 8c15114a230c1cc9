using System.Runtime.CompilerServices;

// Every P/Invoke of this assembly (LibraryImport, function pointers) passes blittable types only; the runtime marshaller is off.
[assembly: DisableRuntimeMarshalling]
