// Not an entry point (package.json does not export it): what the tests and the transports
// use besides the public names, each layer's barrel as it is. Apps import from the entry points.
export * from './defaults';
export * from './wire';
export * from './connection';
export * from './hub';
export * from './nest';
