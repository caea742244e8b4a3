export * from './tools/types.js';
export * from './symbolize/types.js';
