export * from './messages.js';
export { DeltaAccumulator, unitOfTool, unknownFrameName, unknownStackName, type DeltaProgress } from './accumulator.js';
