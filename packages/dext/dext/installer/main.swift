// DextioInstaller: activates (or deactivates) the embedded dext. Run from /Applications:
//   DextioInstaller.app/Contents/MacOS/DextioInstaller [activate|deactivate]
import Foundation
import SystemExtensions

let dextIdentifier = "io.dextio.DextioDriver"

final class Delegate: NSObject, OSSystemExtensionRequestDelegate {
    func request(_ request: OSSystemExtensionRequest,
                 actionForReplacingExtension existing: OSSystemExtensionProperties,
                 withExtension ext: OSSystemExtensionProperties) -> OSSystemExtensionRequest.ReplacementAction {
        print("replacing \(existing.bundleShortVersion) with \(ext.bundleShortVersion)")
        return .replace
    }

    func requestNeedsUserApproval(_ request: OSSystemExtensionRequest) {
        print("approve the driver in System Settings > General > Login Items & Extensions")
    }

    func request(_ request: OSSystemExtensionRequest, didFinishWithResult result: OSSystemExtensionRequest.Result) {
        print(result == .completed ? "done" : "done after reboot")
        exit(0)
    }

    func request(_ request: OSSystemExtensionRequest, didFailWithError error: Error) {
        print("failed: \(error.localizedDescription)")
        exit(1)
    }
}

let delegate = Delegate()
let deactivate = CommandLine.arguments.dropFirst().first == "deactivate"
let request = deactivate
    ? OSSystemExtensionRequest.deactivationRequest(forExtensionWithIdentifier: dextIdentifier, queue: .main)
    : OSSystemExtensionRequest.activationRequest(forExtensionWithIdentifier: dextIdentifier, queue: .main)
request.delegate = delegate
OSSystemExtensionManager.shared.submitRequest(request)
dispatchMain()
