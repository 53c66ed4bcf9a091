/**
 * Declare a USB device in TypeScript ({@link defineDevice}) and run it in this process as a
 * backend of `@dextio/core` ({@link ModelBackend}): tests of your app without hardware.
 *
 * @module
 */
export { AttachedDevice, type Fault } from './attached.js';
export { ModelBackend } from './backend.js';
export { Violations } from './violations.js';
export {
  DeclarationError,
  defineDevice,
  type AlternateDeclaration,
  type ConfigurationDeclaration,
  type ControlReply,
  type ControlRequest,
  type DeviceContext,
  type DeviceDeclaration,
  type DeviceModel,
  type EndpointDeclaration,
  type InterfaceDeclaration,
  type Speed,
} from './declaration.js';
export { DESCRIPTOR_TRANSFERS } from './device.js';
export { SLOTS_PER_PIPE } from './pipe.js';
