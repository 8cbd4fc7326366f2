export * from './datastar-options.interface';
export { DEFAULT_RETRY_DURATION, PATCH_ELEMENTS, PATCH_SIGNALS } from './datastar-event';
export * from './datastar-signals.decorator';
export * from './execute-script';
export * from './patch-elements';
export * from './patch-signals';
export * from './read-signals';
export * from './remove';
