/**
 * Declare a USB device in TypeScript and run it in this process as a backend of `@dextio/core`:
 * tests of your app without hardware, with the same device model you can run elsewhere.
 *
 * @module
 */
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
