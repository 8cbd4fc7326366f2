export * from './datastar-options.interface';
export * from './datastar-signals.decorator';
export * from './execute-script';
export * from './patch-elements';
export * from './patch-signals';
export { readSignals } from './read-signals';
export * from './remove';
